package enforcer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse/gatehouse/facts"
	"github.com/gatehouse/gatehouse/offline"
	"github.com/gatehouse/gatehouse/sudoers"
)

// Config is gatehoused's configuration file. Every field has a default;
// an absent file means all defaults.
type Config struct {
	// Policy is the policy file; "" or "builtin:example" uses the bundled
	// example policy.
	Policy string `yaml:"policy"`
	// Database is the SQLite file for audit events, requests and grants.
	Database string `yaml:"database"`
	// Socket is the local API's Unix socket.
	Socket string `yaml:"socket"`

	// Mounts lists paths whose filesystems are watched, each through every
	// mount of it. Empty means every local filesystem (see Exclude).
	Mounts []string `yaml:"mounts"`
	// Exclude lists mount points not to watch when Mounts is empty: a
	// filesystem is left out when every mount of it is excluded.
	Exclude []string `yaml:"exclude"`
	// ExecBackstop is what the Linux exec backstop does with an exec that
	// no mark held (docs/enforcer.md): "off" loads nothing, "audit"
	// records it, "deny" records it and kills the program before it runs.
	ExecBackstop string `yaml:"exec_backstop"`
	// ExecBackstopCgroup limits the backstop to the tasks of one cgroup v2
	// directory and below (e.g. /sys/fs/cgroup/user.slice); "" is all.
	ExecBackstopCgroup string `yaml:"exec_backstop_cgroup"`

	// UnholdableFiles is what an exec gets whose allow rests on the
	// contents of a file they cannot be held unchanged in (one its owner
	// may write, or any on a network, FUSE or overlay filesystem;
	// docs/enforcer.md): "deny" (the default) denies it and says why; "decide" decides on the bytes read, which a writer can
	// change before the exec has them.
	UnholdableFiles string `yaml:"unholdable_files"`

	// FailClosed denies, instead of allowing, when a decision cannot be
	// made within DecisionBudget or fails internally.
	FailClosed bool `yaml:"fail_closed"`
	// DecisionBudget bounds the time one decision may take (hashing a new
	// file included) before the engine answers by itself.
	DecisionBudget Duration `yaml:"decision_budget"`
	// HashWorkers is how many files may be hashed at once.
	HashWorkers int `yaml:"hash_workers"`
	// CacheEntries bounds the file-facts cache.
	CacheEntries int `yaml:"cache_entries"`

	// GrantTTL is how long a Continue or a justification lets the program
	// be relaunched; GrantUses how many times (0 = unlimited within TTL).
	GrantTTL  Duration `yaml:"grant_ttl"`
	GrantUses int      `yaml:"grant_uses"`
	// ApprovalTTL is how long an approval without a window lasts.
	ApprovalTTL Duration `yaml:"approval_ttl"`
	// RequestTTL expires requests nobody answered.
	RequestTTL Duration `yaml:"request_ttl"`
	// OfflineSecret is the machine's secret for offline approval codes
	// (created on first start, readable by root only; empty means
	// offline.key next to the database); OfflineAttempts
	// and OfflineLifetime bound the response codes a request takes.
	OfflineSecret   string   `yaml:"offline_secret"`
	OfflineAttempts int      `yaml:"offline_attempts"`
	OfflineLifetime Duration `yaml:"offline_lifetime"`
	// ConsoleFallback is how long an approval_offline request waits for
	// the console before the user gets the offline codes instead: on a
	// machine enrolled with a console, the sync service must have reached
	// it within this long (ApprovalRoute).
	ConsoleFallback Duration `yaml:"console_fallback"`

	// AuditQueue bounds the audit events waiting to be written.
	AuditQueue int `yaml:"audit_queue"`
	// AuditRunFile is where the running daemon keeps the counts of the
	// audit events it accepts, for its next start to find after a kill
	// (docs/enforcer.md, "Audit"). It belongs on a tmpfs; "" means
	// audit-run next to the socket (/run/gatehouse/audit-run).
	AuditRunFile string `yaml:"audit_run_file"`
	// Retention deletes audit events older than this (0 keeps them).
	Retention Duration `yaml:"retention"`
	// ReloadInterval is how often the policy file is checked for changes.
	ReloadInterval Duration `yaml:"reload_interval"`
	// TTYMessages writes a short message to the terminal of a blocked
	// program.
	TTYMessages *bool `yaml:"tty_messages"`
	// KernelCache lets the kernel remember plain allows (action allow,
	// audit: false) that no user, argument or parent criterion could
	// change, until the file is modified or the policy reloaded; those
	// execs are then not seen by gatehoused at all.
	KernelCache *bool `yaml:"kernel_cache"`
	// ProgramFacts records all the facts of each program (hashes, code
	// signature, download source, folder protection, parent chain) the
	// first time it runs, as a "program" audit event: the console replays
	// draft policies over them (what-if). Off the hot path.
	ProgramFacts *bool `yaml:"program_facts"`

	// Sudo commands an elevate rule lets run (docs/elevation.md).
	// SudoWindow is how long a right without an approver's window lasts
	// (the user runs sudo within it); SudoPassword makes sudo ask for the
	// user's password as usual as well; SudoersDir is where the rights'
	// drop-ins go (sudo's @includedir).
	SudoWindow   Duration `yaml:"sudo_window"`
	SudoPassword *bool    `yaml:"sudo_password"`
	SudoersDir   string   `yaml:"sudoers_dir"`

	// Who may do what over the local API is decided by the kind of caller
	// (docs/architecture.md). These say how some kinds are recognised.
	//
	// SudoPaths are the sudo executables: a root caller running one of
	// them, for a real user other than root, is the sudo front-end and
	// speaks for that user only.
	SudoPaths []string `yaml:"sudo_paths"`
	// SyncUser is the account of the console sync service ("" = none):
	// its processes read all requests and events and decide requests.
	SyncUser string `yaml:"sync_user"`
	// PolkitUser is the account polkitd runs as (Linux; "" = none): its
	// processes — the helper its rules spawn — ask for the decisions on
	// authorization requests (docs/authorization.md).
	PolkitUser string `yaml:"polkit_user"`
	// AgentTeamID and AgentSigningID are the code signature of the
	// menu-bar agent (macOS; both must match). On Linux nothing tells the
	// agent from the user's other programs: it has the user's rights.
	AgentTeamID    string `yaml:"agent_team_id"`
	AgentSigningID string `yaml:"agent_signing_id"`

	// ApplicationsDir is the folder installs go into and deletes come out
	// of (the policy's install and delete criteria; macOS). "" decides
	// no installs or deletes.
	ApplicationsDir string `yaml:"applications_dir"`
	// ProtectFiles are the daemon's own files and folders: renaming,
	// removing or truncating them is refused (except for the updater) and
	// recorded as tamper events, where the source can hold such changes
	// (macOS).
	ProtectFiles []string `yaml:"protect_files"`
	// UpdaterTeamID and UpdaterSigningID are the code signature of the
	// daemon's own updater, the one program that may change ProtectFiles
	// while the daemon runs (both must match; empty: none may).
	UpdaterTeamID    string `yaml:"updater_team_id"`
	UpdaterSigningID string `yaml:"updater_signing_id"`

	// Console is the file `gatehoused enroll` writes when this machine
	// enrolls with a console: the console's signing keys, which every
	// decision it sends must verify with. "" is console.json next to the
	// database.
	Console string `yaml:"console"`

	// CodeSigningRoots are PEM files of CA certificates whose code
	// signatures count as signed, besides Apple's (an organisation's own
	// code-signing CA): the policy's publisher, team_id and signing_id
	// then match programs they sign.
	CodeSigningRoots []string `yaml:"code_signing_roots"`

	// AdminGroups are the groups whose members count as admins for the
	// policy's protected criterion: a program is protected when it and
	// every folder above it belong to root or an admin and no one else
	// may write there. Groups missing on the machine are skipped.
	AdminGroups []string `yaml:"admin_groups"`
}

// Duration is a time.Duration written as "90s", "10m", "720h".
type Duration time.Duration

// UnmarshalYAML reads a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration; write it like 30s, 10m or 720h", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Policy:          defaultPolicyPath,
		Database:        defaultDatabasePath,
		Socket:          DefaultSocket,
		Exclude:         []string{},
		ExecBackstop:    "off",
		UnholdableFiles: "deny",
		DecisionBudget:  Duration(5 * time.Second),
		HashWorkers:     2,
		CacheEntries:    100_000,
		GrantTTL:        Duration(10 * time.Minute),
		GrantUses:       1,
		ApprovalTTL:     Duration(24 * time.Hour),
		RequestTTL:      Duration(7 * 24 * time.Hour),
		OfflineAttempts: offline.DefaultLimits.MaxAttempts,
		OfflineLifetime: Duration(offline.DefaultLimits.Lifetime),
		ConsoleFallback: Duration(30 * time.Second),
		AuditQueue:      65536,
		Retention:       Duration(90 * 24 * time.Hour),
		ReloadInterval:  Duration(2 * time.Second),
		TTYMessages:     new(true), // one pointer each: the YAML decoder writes through them
		KernelCache:     new(true),
		ProgramFacts:    new(true),
		SudoWindow:      Duration(5 * time.Minute),
		SudoPassword:    new(false),
		SudoersDir:      string(sudoers.Default),
		SudoPaths:       []string{"/usr/bin/sudo"},
		PolkitUser:      "polkitd",
		AdminGroups:     slices.Clone(facts.DefaultAdminGroups),
		ApplicationsDir: defaultApplicationsDir,
		ProtectFiles:    slices.Clone(defaultProtectFiles),
	}
}

// LoadConfig reads the configuration file at path over the defaults. A
// missing file is not an error when path is the default path.
func LoadConfig(path string) (Config, error) {
	cfg := DefaultConfig()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && path == DefaultConfigPath {
		return cfg, nil
	}
	if err != nil {
		return cfg, fmt.Errorf("read configuration: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return cfg, fmt.Errorf("configuration %s: %v", path, err)
	}
	return cfg, cfg.validate()
}

func (c *Config) validate() error {
	var errs []error
	if c.DecisionBudget.D() < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("decision_budget %v is too short; use at least 10ms", c.DecisionBudget.D()))
	}
	if c.HashWorkers < 1 {
		errs = append(errs, fmt.Errorf("hash_workers must be at least 1, got %d", c.HashWorkers))
	}
	if c.CacheEntries < 100 {
		errs = append(errs, fmt.Errorf("cache_entries must be at least 100, got %d", c.CacheEntries))
	}
	if c.AuditQueue < 16 {
		errs = append(errs, fmt.Errorf("audit_queue must be at least 16, got %d", c.AuditQueue))
	}
	if c.GrantUses < 0 {
		errs = append(errs, fmt.Errorf("grant_uses must be 0 (unlimited) or more, got %d", c.GrantUses))
	}
	if err := c.offlineLimits().Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.OfflineAttempts < 1 {
		errs = append(errs, fmt.Errorf("offline_attempts must be at least 1, got %d", c.OfflineAttempts))
	}
	if w := c.SudoWindow.D(); w < 10*time.Second || w > 24*time.Hour {
		errs = append(errs, fmt.Errorf("sudo_window %v: use 10s to 24h (how long a user has to run an elevated sudo command)", w))
	}
	if !filepath.IsAbs(c.SudoersDir) {
		errs = append(errs, fmt.Errorf("sudoers_dir %q is not an absolute path; sudo reads /etc/sudoers.d", c.SudoersDir))
	}
	if c.SudoPassword == nil {
		c.SudoPassword = new(false)
	}
	for _, p := range c.SudoPaths {
		if !filepath.IsAbs(p) {
			errs = append(errs, fmt.Errorf("sudo_paths: %q is not an absolute path; give the full path of sudo, like /usr/bin/sudo", p))
		}
	}
	if (c.UpdaterTeamID == "") != (c.UpdaterSigningID == "") {
		errs = append(errs, errors.New("updater_team_id and updater_signing_id go together; set both or neither"))
	}
	if c.ApplicationsDir != "" && !filepath.IsAbs(c.ApplicationsDir) {
		errs = append(errs, fmt.Errorf("applications_dir %q is not an absolute path; use /Applications, or \"\" to decide no installs or deletes", c.ApplicationsDir))
	}
	for _, p := range c.ProtectFiles {
		if !filepath.IsAbs(p) || filepath.Clean(p) == "/" {
			errs = append(errs, fmt.Errorf("protect_files: %q is not an absolute path below /; name the daemon's own files and folders", p))
		}
	}
	if (c.AgentTeamID == "") != (c.AgentSigningID == "") {
		errs = append(errs, errors.New("agent_team_id and agent_signing_id go together; set both or neither"))
	}
	switch c.ExecBackstop {
	case "off", "audit", "deny":
	default:
		errs = append(errs, fmt.Errorf("exec_backstop %q: want off, audit or deny", c.ExecBackstop))
	}
	switch c.UnholdableFiles {
	case "deny", "decide":
	default:
		errs = append(errs, fmt.Errorf("unholdable_files %q: want deny or decide", c.UnholdableFiles))
	}
	if c.ExecBackstopCgroup != "" && !filepath.IsAbs(c.ExecBackstopCgroup) {
		errs = append(errs, fmt.Errorf("exec_backstop_cgroup %q is not an absolute path; name a cgroup v2 directory like /sys/fs/cgroup/user.slice", c.ExecBackstopCgroup))
	}
	if c.Database == "" {
		errs = append(errs, errors.New("database is empty; give the path of the SQLite file"))
	}
	if c.Socket == "" {
		errs = append(errs, errors.New("socket is empty; give the path of the local API socket"))
	}
	return errors.Join(errs...)
}

func (c *Config) offlineLimits() offline.Limits {
	return offline.Limits{MaxAttempts: c.OfflineAttempts, Lifetime: c.OfflineLifetime.D()}
}

// auditRunPath is where the audit run file lives.
func (c *Config) auditRunPath() string {
	if c.AuditRunFile != "" {
		return c.AuditRunFile
	}
	return filepath.Join(filepath.Dir(c.Socket), "audit-run")
}

// offlineSecretPath is where the offline secret lives.
func (c *Config) offlineSecretPath() string {
	if c.OfflineSecret != "" {
		return c.OfflineSecret
	}
	return filepath.Join(filepath.Dir(c.Database), "offline.key")
}
