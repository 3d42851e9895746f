package setup

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Kubeconfig is what setup writes: a user whose token comes from
// kubectl-aksoidc and, when Server is set, a cluster and a context for it.
type Kubeconfig struct {
	// Kubectl runs `kubectl config`, whose client-go clientcmd merges the
	// entries into the file and honours $KUBECONFIG exactly as kubectl does.
	// Linking clientcmd into the plugin would instead cost every get-token
	// call a millisecond of package initialisation.
	Kubectl string
	// Path is the file to write; empty means $KUBECONFIG or ~/.kube/config.
	Path string
	// Name names the cluster, the user and the context.
	Name    string
	Server  string
	CAData  []byte
	Command string
	Args    []string
}

// Write replaces the entries of k.Name and leaves every other entry and the
// current context as they are.
func Write(ctx context.Context, k Kubeconfig) error {
	// A stale token or client certificate of a user of this name must not
	// survive next to the exec entry.
	_ = k.kubectl(ctx, "delete-user", k.Name)
	user := []string{"set-credentials", k.Name, "--exec-command=" + k.Command,
		"--exec-api-version=client.authentication.k8s.io/v1", "--exec-interactive-mode=IfAvailable",
		"--exec-provide-cluster-info=true"}
	for _, a := range k.Args {
		user = append(user, "--exec-arg="+a)
	}
	if err := k.kubectl(ctx, user...); err != nil {
		return err
	}
	if k.Server == "" {
		return nil
	}
	cluster := []string{"set-cluster", k.Name, "--server=" + k.Server}
	if len(k.CAData) > 0 {
		ca, err := os.CreateTemp("", "aksoidc-ca-*.pem")
		if err != nil {
			return fmt.Errorf("write the proxy's CA for kubectl: %w", err)
		}
		defer func() { _ = os.Remove(ca.Name()) }()
		if _, err := ca.Write(k.CAData); err != nil {
			return fmt.Errorf("write the proxy's CA for kubectl: %w", err)
		}
		if err := ca.Close(); err != nil {
			return fmt.Errorf("write the proxy's CA for kubectl: %w", err)
		}
		cluster = append(cluster, "--certificate-authority="+ca.Name(), "--embed-certs=true")
	}
	if err := k.kubectl(ctx, cluster...); err != nil {
		return err
	}
	if err := k.kubectl(ctx, "set-context", k.Name, "--cluster="+k.Name, "--user="+k.Name); err != nil {
		return err
	}
	// A kubeconfig without a current context (a new file) gets this one; an
	// existing choice is the user's and stays.
	if k.kubectl(ctx, "current-context") != nil {
		return k.kubectl(ctx, "use-context", k.Name)
	}
	return nil
}

func (k Kubeconfig) kubectl(ctx context.Context, args ...string) error {
	full := []string{"config"}
	if k.Path != "" {
		full = append(full, "--kubeconfig="+k.Path)
	}
	full = append(full, args...)
	out, err := exec.CommandContext(ctx, k.Kubectl, full...).CombinedOutput() //nolint:gosec // the user's kubectl
	if err != nil {
		return fmt.Errorf("kubectl config %s: %w: %s", args[0], err, strings.TrimSpace(string(out)))
	}
	return nil
}
