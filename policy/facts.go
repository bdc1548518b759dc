package policy

// Subject is what is known about one program: the one being started, or one
// of its ancestors. Hashes are lowercase hex; empty means unknown.
type Subject struct {
	Type AppType
	// Path is the executable's absolute path; for a bundle, the bundle
	// directory (for example /Applications/Foo.app).
	Path string
	// Args are the command-line arguments without argv[0].
	Args []string

	SHA1   string
	SHA256 string

	BundleID string
	Version  string

	// Publisher is the most specific code-signing authority (the leaf
	// certificate's common name), TeamID and SigningID as codesign reports them.
	Publisher string
	TeamID    string
	SigningID string
	// Signature says what the code-signature check found, for explain
	// ("signed by …", "ad-hoc signed: treated as unsigned", why it is
	// invalid); "" when it was not read.
	Signature string

	// Source is the URL the file was downloaded from, if the OS recorded it.
	Source string

	// Protection says whether users could have put the file where it is
	// (see Protection); ProtectionDetail says why not, for explain. It
	// depends on the folders above the file, not on the file, so it is
	// gathered for each event that needs it (Needs.Protection), never
	// cached with the file's facts.
	Protection       Protection
	ProtectionDetail string
}

// Protection is whether a file sits where only root and admins could have
// put it: the file and every directory above it owned by root or an admin,
// and writable by no group but root's and the admin groups, and by no one
// else.
type Protection uint8

const (
	// ProtectionUnknown: not gathered (or not readable); a protected
	// criterion fails on it, so `protected: false` matches it.
	ProtectionUnknown Protection = iota
	Protected
	Unprotected
)

func (p Protection) String() string {
	switch p {
	case Protected:
		return "protected"
	case Unprotected:
		return "unprotected"
	}
	return "unknown"
}

// Facts describe one event for evaluation. The caller gathers them (once per
// file identity, cached) and passes them by pointer; Evaluate does not keep
// or modify them.
type Facts struct {
	Subject
	Event Event
	// AuthURI is the authorization right requested, for AuthRequest events.
	AuthURI string

	User    string
	UID     uint32
	Groups  []string
	Machine string

	// Parents is the parent chain, nearest first, up to init/launchd.
	Parents []Subject

	// Unavailable names the per-event facts that EvaluateLazy's load
	// could not gather (Args: the arguments; Parents: the parent chain, or
	// the facts of its programs beyond their paths when the policy's
	// parent criteria look at more — Needs.ParentFacts). A definition that
	// needs one is decided by its rule's action instead of on an empty
	// value; see EvaluateLazy. Evaluate ignores it.
	Unavailable Needs
}
