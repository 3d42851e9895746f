package setup

import "errors"

// Standalone is k as a kubeconfig file of its own: the same cluster, user and
// context entries Write puts into a new file, and that context as the current
// one. The proxy's onboarding page hands it out for download, so that a
// downloaded kubeconfig and one setup writes never differ in shape.
func (k Kubeconfig) Standalone() ([]byte, error) {
	if err := k.Check(); err != nil {
		return nil, err
	}
	if k.Server == "" {
		return nil, errors.New("kubeconfig: a standalone kubeconfig needs a server")
	}
	f := &kubeconfigFile{path: "standalone", doc: newDocument()}
	if err := k.apply(&fileSet{files: []*kubeconfigFile{f}}); err != nil {
		return nil, err
	}
	return encode(f.doc)
}
