package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/aksoidc/aksoidc/pkg/login"
)

const (
	execInfoEnv  = "KUBERNETES_EXEC_INFO"
	apiV1        = "client.authentication.k8s.io/v1"
	apiV1beta1   = "client.authentication.k8s.io/v1beta1"
	execCredKind = "ExecCredential"
)

// execCredential mirrors client.authentication.k8s.io ExecCredential (the same
// fields in v1 and v1beta1). It is declared here rather than imported from
// client-go because k8s.io/apimachinery's package init would cost every
// kubectl call milliseconds; a test decodes it with client-go's own decoder.
type execCredential struct {
	APIVersion string               `json:"apiVersion"`
	Kind       string               `json:"kind"`
	Spec       execCredentialSpec   `json:"spec,omitzero"`
	Status     execCredentialStatus `json:"status"`
}

type execCredentialSpec struct {
	Interactive bool `json:"interactive"`
}

type execCredentialStatus struct {
	ExpirationTimestamp string `json:"expirationTimestamp,omitempty"`
	Token               string `json:"token"`
}

type execInfo struct {
	apiVersion  string
	interactive bool
}

// parseExecInfo reads what kubectl says about the call. Without it (a run
// from a shell) the answer is v1beta1 and a user at a terminal.
func parseExecInfo(raw string) (execInfo, error) {
	if raw == "" {
		return execInfo{apiVersion: apiV1beta1, interactive: true}, nil
	}
	var in execCredential
	if err := json.Unmarshal([]byte(raw), &in); err != nil {
		return execInfo{}, fmt.Errorf("%s: not JSON: %w", execInfoEnv, err)
	}
	if in.APIVersion != apiV1 && in.APIVersion != apiV1beta1 {
		return execInfo{}, fmt.Errorf("%s: apiVersion %q is not supported (want %s or %s)", execInfoEnv, in.APIVersion, apiV1, apiV1beta1)
	}
	return execInfo{apiVersion: in.APIVersion, interactive: in.Spec.Interactive}, nil
}

func writeExecCredential(w io.Writer, apiVersion string, tok login.Token) error {
	b, err := json.Marshal(execCredential{
		APIVersion: apiVersion,
		Kind:       execCredKind,
		Status: execCredentialStatus{
			Token:               tok.Value,
			ExpirationTimestamp: tok.Expiry.UTC().Format(time.RFC3339),
		},
	})
	if err != nil {
		return fmt.Errorf("encode ExecCredential: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
