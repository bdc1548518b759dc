package codesign

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"embed"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/sassoftware/relic/v8/lib/pkcs7"
	"github.com/sassoftware/relic/v8/lib/x509tools"

	"github.com/gatehouse/gatehouse/internal/plist"
)

// cmsResult is the cached outcome of the CMS and chain verification of one
// superblob.
type cmsResult struct {
	status    Status // Signed or Invalid
	reason    string
	teamID    string
	authority []string
}

func (v *Verifier) verifyCMS(sb *superBlob) cmsResult {
	key := sha256.Sum256(sb.raw)
	v.mu.Lock()
	c, ok := v.cache[key]
	v.mu.Unlock()
	if ok {
		return c
	}
	c = v.verifyCMSUncached(sb, time.Now())
	v.mu.Lock()
	if len(v.cache) >= maxCacheEntries {
		// Evict an arbitrary entry (map order is randomized): simple,
		// constant time, and good enough for a cache that is hit by
		// the same few hundred programs over and over.
		for k := range v.cache {
			delete(v.cache, k)
			break
		}
	}
	v.cache[key] = c
	v.mu.Unlock()
	return c
}

var teamIDPattern = regexp.MustCompile(`^[A-Z0-9]{10}$`)

// Apple's object identifiers (relic's lib/fruit/csblob/asn1.go, Apple's
// certificate policies).
var (
	// oidCodeSign prefixes the leaf extensions that mark a certificate for
	// code signing (Developer ID Application is .13).
	oidCodeSign = asn1.ObjectIdentifier{1, 2, 840, 113635, 100, 6, 1}
	// oidCDHashPlist: a plist listing the truncated cdhash of every code
	// directory, in slot order.
	oidCDHashPlist = asn1.ObjectIdentifier{1, 2, 840, 113635, 100, 9, 1}
	// oidCDHashes: the full hash of code directories, by algorithm.
	oidCDHashes = asn1.ObjectIdentifier{1, 2, 840, 113635, 100, 9, 2}
)

// Special slots bound by the code directory and checked here. The Info.plist
// (1) and CodeResources (3) slots belong to bundles and are not checked.
const (
	specialRequirements   = 2
	specialEntitlements   = 5
	specialRepSpecific    = 6
	specialEntitlementDER = 7
)

// verifyCMSUncached does what relic's csblob.Verify does, with relic's
// pkcs7 package, plus the chain. csblob itself is not used: it imports
// relic's pkcs9 (net/http, for timestamp requests) and certloader (OpenPGP,
// keyrings, D-Bus), which the enforcer must not link.
func (v *Verifier) verifyCMSUncached(sb *superBlob, now time.Time) cmsResult {
	bad := func(format string, args ...any) cmsResult {
		return cmsResult{status: Invalid, reason: fmt.Sprintf(format, args...)}
	}
	if err := checkSpecialSlots(sb); err != nil {
		return bad("%v", err)
	}
	// Apple encodes the CMS with indefinite lengths (BER), which
	// encoding/asn1 rejects: re-encode it as DER first, as relic does.
	pkt, err := ber.DecodePacketErr(sb.cms[8:])
	if err != nil {
		return bad("malformed CMS signature: %v", err)
	}
	psd, err := pkcs7.Unmarshal(pkt.Bytes())
	if err != nil {
		return bad("malformed CMS signature: %v", err)
	}
	// The CMS content is the slot 0 code directory.
	sig, err := psd.Content.Verify(sb.dirs[0].raw, false)
	if err != nil {
		return bad("the CMS signature does not verify: %v", err)
	}
	si, leaf := sig.SignerInfo, sig.Certificate
	if si == nil || leaf == nil {
		return bad("the CMS signature has no signer")
	}
	if err := covered(sb, si); err != nil {
		return bad("%v", err)
	}

	at := now
	if t, err := si.SigningTime(); err == nil && t.Before(now) {
		at = t
	}
	inter := x509.NewCertPool()
	for _, c := range sig.Intermediates {
		markHandledExtensions(c)
		inter.AddCert(c)
	}
	markHandledExtensions(leaf)
	chains, err := leaf.Verify(x509.VerifyOptions{
		Intermediates: inter,
		Roots:         v.roots,
		CurrentTime:   at,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return bad("the certificate %q is not trusted: %v", leaf.Subject.CommonName, err)
	}
	if !codeSigningAllowed(leaf) {
		return bad("the certificate %q is not for code signing", leaf.Subject.CommonName)
	}

	team := sb.best.team
	if certTeam := certTeamID(leaf); teamIDPattern.MatchString(certTeam) {
		if team == "" {
			team = certTeam
		} else if team != certTeam {
			return bad("the code directory claims team %q but the certificate %q is for team %q", team, leaf.Subject.CommonName, certTeam)
		}
	}
	authority := make([]string, 0, len(chains[0]))
	for _, c := range chains[0] {
		authority = append(authority, c.Subject.CommonName)
	}
	return cmsResult{status: Signed, teamID: team, authority: authority}
}

// checkSpecialSlots checks, in every code directory, the hashes of the
// requirements and entitlements blobs; the CMS signature covers these
// hashes, not the blobs.
func checkSpecialSlots(sb *superBlob) error {
	for _, cd := range sb.dirs {
		for _, slot := range []uint32{specialRequirements, specialEntitlements, specialRepSpecific, specialEntitlementDER} {
			if int(slot) > len(cd.special) || cd.special[slot-1] == nil {
				continue
			}
			h := newHash(cd.hash)
			h.Write(sb.special[slot]) // a missing blob hashes as empty: no match
			if !hmac.Equal(h.Sum(nil), cd.special[slot-1]) {
				return fmt.Errorf("special slot %d does not match its hash in the code directory in slot %#x", slot, cd.slot)
			}
		}
	}
	return nil
}

func codeSigningAllowed(c *x509.Certificate) bool {
	if len(c.ExtKeyUsage) == 0 && len(c.UnknownExtKeyUsage) == 0 {
		return true
	}
	for _, u := range c.ExtKeyUsage {
		if u == x509.ExtKeyUsageCodeSigning || u == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}

// markHandledExtensions clears Apple's proprietary critical code signing
// extensions, which crypto/x509 would otherwise refuse (relic's
// csblob.MarkHandledExtensions).
func markHandledExtensions(c *x509.Certificate) {
	var unhandled []asn1.ObjectIdentifier
	for _, ext := range c.UnhandledCriticalExtensions {
		if !hasPrefix(ext, oidCodeSign) {
			unhandled = append(unhandled, ext)
		}
	}
	c.UnhandledCriticalExtensions = unhandled
}

// certTeamID is the team in an Apple-issued leaf: its single OU, when it
// carries a code signing extension (relic's csblob.TeamID).
func certTeamID(c *x509.Certificate) string {
	for _, ext := range c.Extensions {
		if hasPrefix(ext.Id, oidCodeSign) && len(c.Subject.OrganizationalUnit) == 1 {
			return c.Subject.OrganizationalUnit[0]
		}
	}
	return ""
}

func hasPrefix(id, prefix asn1.ObjectIdentifier) bool {
	return len(id) >= len(prefix) && id[:len(prefix)].Equal(prefix)
}

// covered checks the signed cdhash attributes against every code directory
// they name, and that the CMS signature vouches for the best directory, the
// one whose cdhash and pages are used. The CMS content is the slot 0
// directory; another counts only through those attributes: without them an
// alternate directory is unsigned and anyone could have put it there.
func covered(sb *superBlob, si *pkcs7.SignerInfo) error {
	bestCovered := sb.best.slot == slotCodeDirectory
	var hashes []struct {
		Algorithm asn1.ObjectIdentifier
		Digest    []byte
	}
	switch err := si.AuthenticatedAttributes.GetAll(oidCDHashes, &hashes); err.(type) {
	case nil:
		for _, h := range hashes {
			alg, err := x509tools.PkixDigestToHashE(pkix.AlgorithmIdentifier{Algorithm: h.Algorithm})
			if err != nil {
				return fmt.Errorf("signed cdhashes: %w", err)
			}
			i := slices.IndexFunc(sb.dirs, func(cd *codeDir) bool { return cd.hash == alg })
			if i < 0 {
				return fmt.Errorf("signed cdhashes name a %v code directory the signature does not have", alg)
			}
			if !hmac.Equal(h.Digest, sb.dirs[i].digest) {
				return fmt.Errorf("the %v code directory does not match its signed cdhash", alg)
			}
			bestCovered = bestCovered || sb.dirs[i] == sb.best
		}
	case pkcs7.ErrNoAttribute:
	default:
		return fmt.Errorf("signed cdhashes: %w", err)
	}
	var text []byte
	switch err := si.AuthenticatedAttributes.GetOne(oidCDHashPlist, &text); err.(type) {
	case nil:
		list, err := cdHashList(text)
		if err != nil {
			return fmt.Errorf("signed cdhash list: %w", err)
		}
		if len(list) != len(sb.dirs) {
			return fmt.Errorf("the signed cdhash list has %d entries for %d code directories", len(list), len(sb.dirs))
		}
		for i, cd := range sb.dirs {
			if !hmac.Equal(list[i], cd.cdhash[:]) {
				return fmt.Errorf("the code directory in slot %#x does not match the signed cdhash list", cd.slot)
			}
		}
		bestCovered = true
	case pkcs7.ErrNoAttribute:
	default:
		return fmt.Errorf("signed cdhash list: %w", err)
	}
	if !bestCovered {
		return fmt.Errorf("the CMS signature does not cover the code directory in slot %#x", sb.best.slot)
	}
	return nil
}

// cdHashList reads the property list of the signed cdhash-list attribute:
// a dict whose "cdhashes" is an array of data, one per code directory. A
// missing list is empty.
//
// Trust boundary: the attribute is read before the certificate chain is
// checked, so whoever wrote the program wrote this plist. It is parsed with
// internal/plist, which bounds nesting and expansion and never panics;
// howett.net/plist, used here before, can be made to panic with a runtime
// error, to allocate an attacker-chosen size and to run for minutes by a
// plist of a few bytes to a few MB (docs/benchmarks.md, "Property lists").
func cdHashList(text []byte) ([][]byte, error) {
	d, err := plist.Dict(text)
	if err != nil {
		return nil, err
	}
	v, ok := d["cdhashes"]
	if !ok {
		return nil, nil
	}
	a, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("cdhashes is %T, not an array", v)
	}
	list := make([][]byte, len(a))
	for i, e := range a {
		if list[i], ok = e.([]byte); !ok {
			return nil, fmt.Errorf("cdhashes entry %d is %T, not data", i, e)
		}
	}
	return list, nil
}

//go:embed roots/*.pem
var rootsFS embed.FS

// AppleRoots returns a pool of Apple's root certificates embedded in this
// package (Apple Root CA, G2, G3).
func AppleRoots() *x509.CertPool {
	pool := x509.NewCertPool()
	for _, c := range embeddedRoots() {
		pool.AddCert(c)
	}
	return pool
}

func embeddedRoots() []*x509.Certificate {
	var certs []*x509.Certificate
	paths, _ := fs.Glob(rootsFS, "roots/*.pem")
	for _, p := range paths {
		data, err := rootsFS.ReadFile(p)
		if err != nil {
			panic(fmt.Sprintf("codesign: embedded %s: %v", p, err))
		}
		block, _ := pem.Decode(data)
		if block == nil {
			panic(fmt.Sprintf("codesign: embedded %s is not PEM", p))
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			panic(fmt.Sprintf("codesign: embedded %s: %v", p, err))
		}
		certs = append(certs, c)
	}
	return certs
}
