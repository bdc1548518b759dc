package policy

// The document types are the policy as written: they mirror the file format
// one to one (yaml tags name the keys) and carry source positions so the
// compiler can point at the line that is wrong. Compile turns a Document
// into an Engine.

// Pos is a position in a policy file. Line and Col start at 1; zero means
// unknown.
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
}

// Document is one policy file.
type Document struct {
	Pos         Pos     `yaml:"-"`
	ID          string  `yaml:"id" required:"true" doc:"Stable identifier of this policy; decisions name it."`
	Revision    int64   `yaml:"revision" required:"true" doc:"Revision number, at least 1; raise it on every change."`
	Description string  `yaml:"description" doc:"Free text for administrators."`
	Default     Default `yaml:"default" doc:"What happens when no rule matches: an action name, or an object with action, message and audit. Allow when omitted."`
	Groups      []Group `yaml:"groups" doc:"Application groups: named lists of definitions."`
	Rules       []Rule  `yaml:"rules" doc:"Ordered rules; the first rule whose group matches and whose scope includes the user decides."`
	// AdminSessions say who may ask for timed admin rights (gatehouse
	// admin; docs/elevation.md).
	AdminSessions []AdminSession `yaml:"admin_sessions" doc:"Who may ask for timed admin rights, in order: the first entry whose scope includes the user decides; a user no entry includes is refused."`
}

// AdminSession is one entry of admin_sessions.
type AdminSession struct {
	Pos              Pos      `yaml:"-"`
	Name             string   `yaml:"name" doc:"Shown in decisions and audit events."`
	Require          string   `yaml:"require" doc:"What the user must give first: none (default), justification, approval or approval_offline." enum:"require"`
	MinJustification int      `yaml:"min_justification" doc:"Minimum length, in characters, of the reason."`
	Approvers        int      `yaml:"approvers" doc:"For require approval: how many approvers must approve in the console (1 to 10, default 1)."`
	MaxDuration      string   `yaml:"max_duration" doc:"The longest session a user may ask for (e.g. 1h; default 1h, at most 24h)."`
	DefaultDuration  string   `yaml:"default_duration" doc:"The session's length when the user names none (default 15m, at most max_duration)."`
	Message          *Message `yaml:"message" doc:"Title, body and URL shown to the user."`
	Users            []string `yaml:"users" doc:"Apply only to these user names."`
	UserGroups       []string `yaml:"user_groups" doc:"Apply only to members of these OS groups."`
	ExcludeUsers     []string `yaml:"exclude_users" doc:"Never apply to these user names."`
	ExcludeGroups    []string `yaml:"exclude_user_groups" doc:"Never apply to members of these OS groups."`
}

// Default is the decision when no rule matches.
type Default struct {
	Pos     Pos      `yaml:"-"`
	Action  string   `yaml:"action,scalar" doc:"Action when no rule matches (default allow)." enum:"action"`
	Message *Message `yaml:"message" doc:"Message shown for interactive or deny actions."`
	Audit   *bool    `yaml:"audit" doc:"Record an audit event for every default decision (default true)."`
}

// Group is an application group: it matches when any definition matches.
type Group struct {
	Pos         Pos          `yaml:"-"`
	Name        string       `yaml:"name" required:"true" doc:"Unique group name; rules and parent criteria refer to it."`
	Description string       `yaml:"description"`
	Definitions []Definition `yaml:"definitions" required:"true" doc:"Definitions, combined with OR."`
}

// Definition matches when every criterion in it matches (AND).
type Definition struct {
	Pos         Pos    `yaml:"-"`
	Description string `yaml:"description"`
	// Type restricts the definition to application types; empty means every type.
	Type      []string        `yaml:"type" doc:"Application type(s): binary, bundle, script, package, sudo, system_preference. Omitted means every type." enum:"type"`
	Path      *StringMatch    `yaml:"path" doc:"File or folder path (for a bundle, the bundle directory)."`
	Args      *StringMatch    `yaml:"args" doc:"Command-line arguments without argv[0], joined by single spaces."`
	SHA1      *HashMatch      `yaml:"sha1" doc:"SHA-1 of the file (40 hex digits)."`
	SHA256    *HashMatch      `yaml:"sha256" doc:"SHA-256 of the file (64 hex digits)."`
	BundleID  *StringMatch    `yaml:"bundle_id" doc:"Bundle identifier (URI), for example com.apple.Safari."`
	Version   *VersionRange   `yaml:"version" doc:"Bundle version range (inclusive)."`
	Publisher *SubstringMatch `yaml:"publisher" doc:"Code-signing authority (leaf certificate common name); a plain string matches any authority containing it."`
	TeamID    *StringMatch    `yaml:"team_id" doc:"Code-signing team identifier."`
	SigningID *StringMatch    `yaml:"signing_id" doc:"Code-signing identifier."`
	Source    *SubstringMatch `yaml:"source" doc:"URL the file was downloaded from; a plain string matches any URL containing it."`
	Parent    *ParentMatch    `yaml:"parent" doc:"Parent process matches an application group."`
	AuthURI   *StringMatch    `yaml:"auth_uri" doc:"Authorization right requested; the definition then matches only authorization requests."`
	Protected *bool           `yaml:"protected" doc:"true: match only a file users cannot have put there — the file and every folder above it owned by root or an admin and writable by no one else; false: only a file they could have. Applies to every type."`
	Install   *bool           `yaml:"install" doc:"true: match only the install of a bundle into /Applications."`
	Delete    *bool           `yaml:"delete" doc:"true: match only the deletion of a bundle from /Applications."`
}

// StringMatch is one string criterion: exactly one operator, optionally
// negated. Matching is case-sensitive. A plain string in the file means
// exact (but see SubstringMatch).
type StringMatch struct {
	Pos        Pos     `yaml:"-"`
	Exact      *string `yaml:"exact,scalar" doc:"Whole value equals."`
	StartsWith *string `yaml:"starts_with" doc:"Value starts with."`
	EndsWith   *string `yaml:"ends_with" doc:"Value ends with."`
	Contains   *string `yaml:"contains" doc:"Value contains."`
	Wildcard   *string `yaml:"wildcard" doc:"Whole value matches; ? is one character, * any run of characters, backslash escapes."`
	Regex      *string `yaml:"regex" doc:"RE2 regular expression, unanchored: use ^ and $ to match the whole value."`
	Not        bool    `yaml:"not" doc:"Negate: the criterion matches when the operator does not."`
}

// SubstringMatch is a StringMatch in which a plain string in the file
// means contains, not exact: the reference documents define publisher and
// download source so ("by default, a substring match is attempted"), and
// an authority is written "Developer ID Application: Google LLC
// (EQHXZ8M8AV)" where a person writes "Developer ID Application: Google".
type SubstringMatch struct {
	Pos        Pos     `yaml:"-"`
	Exact      *string `yaml:"exact" doc:"Whole value equals."`
	StartsWith *string `yaml:"starts_with" doc:"Value starts with."`
	EndsWith   *string `yaml:"ends_with" doc:"Value ends with."`
	Contains   *string `yaml:"contains,scalar" doc:"Value contains (what a plain string means)."`
	Wildcard   *string `yaml:"wildcard" doc:"Whole value matches; ? is one character, * any run of characters, backslash escapes."`
	Regex      *string `yaml:"regex" doc:"RE2 regular expression, unanchored: use ^ and $ to match the whole value."`
	Not        bool    `yaml:"not" doc:"Negate: the criterion matches when the operator does not."`
}

// HashMatch is a file hash criterion. A plain string in the file is the hash.
type HashMatch struct {
	Pos   Pos    `yaml:"-"`
	Value string `yaml:"value,scalar" required:"true" doc:"Hex digest (case-insensitive in the file)."`
	Not   bool   `yaml:"not"`
}

// VersionRange matches a version between Min and Max, both inclusive.
type VersionRange struct {
	Pos Pos    `yaml:"-"`
	Min string `yaml:"min" doc:"Lowest matching version (inclusive)."`
	Max string `yaml:"max" doc:"Highest matching version (inclusive)."`
	Not bool   `yaml:"not"`
}

// ParentMatch matches when the parent process (or any ancestor) matches a
// group. A plain string in the file is the group name.
type ParentMatch struct {
	Pos         Pos    `yaml:"-"`
	Group       string `yaml:"group,scalar" required:"true" doc:"Application group the parent must match."`
	AnyAncestor bool   `yaml:"any_ancestor" doc:"Look at the whole parent chain, not only the direct parent."`
	Not         bool   `yaml:"not"`
}

// Rule maps a group to an action, optionally scoped to users and groups.
type Rule struct {
	Pos              Pos      `yaml:"-"`
	Name             string   `yaml:"name" doc:"Optional rule name shown in decisions and audit events."`
	Group            string   `yaml:"group" required:"true" doc:"Application group this rule applies to."`
	Action           string   `yaml:"action" required:"true" doc:"What to do." enum:"action"`
	Require          string   `yaml:"require" doc:"For elevate: none, justification or approval." enum:"require"`
	Message          *Message `yaml:"message" doc:"Title, body and URL shown to the user."`
	MinJustification int      `yaml:"min_justification" doc:"Minimum length, in characters, of a justification."`
	Approvers        int      `yaml:"approvers" doc:"For approval, approval_offline and elevate with require approval: how many approvers must approve in the console (1 to 10, default 1); one deny denies."`
	Audit            *bool    `yaml:"audit" doc:"Log to audit (default true); false voids audit logging for this rule."`
	Users            []string `yaml:"users" doc:"Apply only to these user names."`
	UserGroups       []string `yaml:"user_groups" doc:"Apply only to members of these OS groups."`
	ExcludeUsers     []string `yaml:"exclude_users" doc:"Never apply to these user names."`
	ExcludeGroups    []string `yaml:"exclude_user_groups" doc:"Never apply to members of these OS groups."`
}

// Message is what the user sees. Title, Body and URL may hold placeholders
// such as {path}; see MessagePlaceholders.
type Message struct {
	Pos   Pos    `yaml:"-"`
	Title string `yaml:"title"`
	Body  string `yaml:"body"`
	URL   string `yaml:"url" doc:"http(s) URL; placeholder values are URL-escaped."`
}
