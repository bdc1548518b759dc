package policy

// SubjectRecord is a program's facts as JSON: what explain --json prints
// and --facts reads, and what an endpoint records the first time it sees a
// program (the detail of a "program" audit event, without Args: they are
// an exec's) and uploads to the console, so a policy can be evaluated on
// them again elsewhere (the console's what-if). Source and Protection are
// as they were where and when the program was seen.
type SubjectRecord struct {
	Type             string   `json:"type,omitempty"`
	Path             string   `json:"path,omitempty"`
	Args             []string `json:"args,omitempty"`
	SHA1             string   `json:"sha1,omitempty"`
	SHA256           string   `json:"sha256,omitempty"`
	BundleID         string   `json:"bundle_id,omitempty"`
	Version          string   `json:"version,omitempty"`
	Publisher        string   `json:"publisher,omitempty"`
	TeamID           string   `json:"team_id,omitempty"`
	SigningID        string   `json:"signing_id,omitempty"`
	Signature        string   `json:"signature,omitempty"`
	Source           string   `json:"source,omitempty"`
	Protection       string   `json:"protection,omitempty"` // "protected", "unprotected"; "" unknown
	ProtectionDetail string   `json:"protection_detail,omitempty"`
}

// RecordOf is s as recorded (its arguments are the exec's, not the
// program's, and are left out; an unknown type or protection too).
func RecordOf(s Subject) SubjectRecord {
	r := SubjectRecord{Path: s.Path, SHA1: s.SHA1, SHA256: s.SHA256, BundleID: s.BundleID, Version: s.Version,
		Publisher: s.Publisher, TeamID: s.TeamID, SigningID: s.SigningID, Signature: s.Signature, Source: s.Source,
		ProtectionDetail: s.ProtectionDetail}
	if s.Type != TypeUnknown {
		r.Type = s.Type.String()
	}
	if s.Protection != ProtectionUnknown {
		r.Protection = s.Protection.String()
	}
	return r
}

// Subject is the record's facts as a Subject; values it does not know
// (an unknown type or protection) read as unknown.
func (r SubjectRecord) Subject() Subject {
	s := Subject{Path: r.Path, Args: r.Args, SHA1: r.SHA1, SHA256: r.SHA256, BundleID: r.BundleID, Version: r.Version,
		Publisher: r.Publisher, TeamID: r.TeamID, SigningID: r.SigningID, Signature: r.Signature, Source: r.Source,
		ProtectionDetail: r.ProtectionDetail}
	s.Type, _ = ParseType(r.Type)
	switch r.Protection {
	case Protected.String():
		s.Protection = Protected
	case Unprotected.String():
		s.Protection = Unprotected
	}
	return s
}
