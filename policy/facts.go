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

	// Source is the URL the file was downloaded from, if the OS recorded it.
	Source string
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
}
