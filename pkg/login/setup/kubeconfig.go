package setup

import (
	"fmt"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Kubeconfig is what setup writes: a user whose token comes from
// kubectl-aksoidc and, when Server is set, a cluster and a context for it.
type Kubeconfig struct {
	// Path is the file to write; empty means $KUBECONFIG or ~/.kube/config,
	// as kubectl itself resolves it.
	Path string
	// Name names the cluster, the user and the context.
	Name    string
	Server  string
	CAData  []byte
	Command string
	Args    []string
}

// Write merges the entries into the kubeconfig with client-go's clientcmd:
// entries of other names stay as they are, entries of this name are replaced.
func Write(k Kubeconfig) (string, error) {
	po := clientcmd.NewDefaultPathOptions()
	po.LoadingRules.ExplicitPath = k.Path
	cfg, err := po.GetStartingConfig()
	if err != nil {
		return "", fmt.Errorf("read kubeconfig: %w", err)
	}
	user := clientcmdapi.NewAuthInfo()
	user.Exec = &clientcmdapi.ExecConfig{
		APIVersion:         "client.authentication.k8s.io/v1",
		Command:            k.Command,
		Args:               k.Args,
		InteractiveMode:    clientcmdapi.IfAvailableExecInteractiveMode,
		ProvideClusterInfo: true,
	}
	cfg.AuthInfos[k.Name] = user
	if k.Server != "" {
		cluster := clientcmdapi.NewCluster()
		cluster.Server = k.Server
		cluster.CertificateAuthorityData = k.CAData
		cfg.Clusters[k.Name] = cluster
		ctx := clientcmdapi.NewContext()
		ctx.Cluster, ctx.AuthInfo = k.Name, k.Name
		cfg.Contexts[k.Name] = ctx
	}
	if err := clientcmd.ModifyConfig(po, *cfg, false); err != nil {
		return "", fmt.Errorf("write kubeconfig: %w", err)
	}
	return po.GetDefaultFilename(), nil
}
