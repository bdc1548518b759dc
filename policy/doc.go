// Package policy is Gatehouse's decision core: the policy document model, its
// compiler (which is also the linter) and the evaluator that turns the facts
// of one program start into a Decision.
//
// The package is pure: standard library only, no I/O and no clock reads.
// Loading files (YAML/JSON with positions) lives in policy/policyfile;
// gathering facts lives with the enforcer and the CLI.
//
// Semantics, in the order the evaluator applies them:
//
//   - A Definition matches when every criterion in it matches (AND); each
//     criterion may be negated. A Group matches when any of its definitions
//     matches (OR).
//   - Rules are tried in document order; the first rule whose group matches
//     and whose user/group scope includes the user decides. No match means
//     the policy's default (allow unless the policy says otherwise).
//   - Indexes (exact path, hashes, bundle id, path prefixes and suffixes)
//     only pick candidates; the observable result is exactly "first rule in
//     order that matches", which Explain computes without indexes and the
//     tests compare against Evaluate.
package policy
