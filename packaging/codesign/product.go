package codesign

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/sassoftware/relic/v8/lib/fruit/xar"
)

// productHash is the product signature's hash: SHA-1, as productsign
// writes it (the table of contents' checksum, the RSA signature over it
// and the CMS signature over it), which Installer reads on every macOS
// Gatehouse supports.
const productHash = crypto.SHA1

// SignProduct signs the flat package at in with an installer identity
// through relic's xar signer and writes the result to out: the table of
// contents gets a checksum, the RSA signature over it and a CMS one
// carrying the certificates (timestamped if id has a Timestamper), and
// the files move up behind them.
func SignProduct(ctx context.Context, in, out string, id *Identity) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	patch, _, err := xar.Sign(ctx, f, id, productHash)
	if err != nil {
		return fmt.Errorf("signing %s: %w", in, err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		return err
	}
	if err := patch.Apply(f, out); err != nil {
		return fmt.Errorf("signing %s: %w", in, err)
	}
	return os.Chmod(out, 0o644)
}

// VerifyProduct checks the product signature of the package at path
// with relic: the table of contents against its checksum, the signature
// over the checksum, every file's checksum, and, if roots is not nil,
// the signer's chain to one of them.
func VerifyProduct(path string, roots *x509.CertPool) (*Signed, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	x, err := xar.Open(f, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	sig, err := x.Verify(false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if sig.Signature == nil || sig.Signature.Certificate == nil {
		return nil, fmt.Errorf("%s: not signed", path)
	}
	s := &Signed{Signer: sig.Signature.Certificate, Timestamped: sig.Signature.CounterSignature != nil,
		TeamID: TeamIDOf(sig.Signature.Certificate)}
	if roots != nil {
		if err := chain(sig.Signature, roots, x509.ExtKeyUsageAny); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		s.Chained = true
	}
	return s, nil
}
