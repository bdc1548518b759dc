package main

import (
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/sassoftware/relic/v8/lib/certloader"

	"github.com/gatehouse/gatehouse/packaging/codesign"
	"github.com/gatehouse/gatehouse/packaging/pkg"
)

// cmdVerify: gatehouse-pkg verify checks a signed package's signatures
// off a Mac (pkg.Verify).
func cmdVerify(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gatehouse-pkg verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	caFile := fs.String("ca", "", "the root certificate(s), PEM or DER, every signer must chain to (Apple's Root CA - G2 or Apple Root CA for a release); without it the chains are not checked")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: gatehouse-pkg verify [--ca ROOT.pem] PACKAGE.pkg")
		return 2
	}
	var roots *x509.CertPool
	if *caFile != "" {
		b, err := os.ReadFile(*caFile)
		if err != nil {
			fmt.Fprintln(stderr, "gatehouse-pkg verify:", err)
			return 1
		}
		certs, err := certloader.ParseX509Certificates(b)
		if err != nil || len(certs) == 0 {
			fmt.Fprintf(stderr, "gatehouse-pkg verify: %s: no certificate in it (%v)\n", *caFile, err)
			return 1
		}
		roots = x509.NewCertPool()
		for _, c := range certs {
			roots.AddCert(c)
		}
	}
	rep, err := pkg.Verify(fs.Arg(0), roots)
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse-pkg verify:", err)
		return 1
	}
	chain := "chains checked to " + *caFile
	if roots == nil {
		chain = "chains NOT checked (give --ca)"
	}
	fmt.Fprintf(stdout, "%s: signed by %q, team %s%s; %s\n", fs.Arg(0), rep.Product.Signer.Subject.CommonName, rep.Product.TeamID, stamped(rep.Product), chain)
	for _, p := range rep.Programs {
		var ents []string
		for k := range p.Entitlements {
			ents = append(ents, k)
		}
		sort.Strings(ents)
		e := "no entitlements"
		if len(ents) > 0 {
			e = "entitlements " + strings.Join(ents, ", ")
		}
		fmt.Fprintf(stdout, "  %s: %s, team %s, hardened runtime%s; %s\n", p.Path, p.Identifier, p.TeamID, stamped(p.Signed), e)
	}
	return 0
}

func stamped(s *codesign.Signed) string {
	if s.Timestamped {
		return ", timestamped"
	}
	return ", NOT timestamped (notarization refuses it)"
}
