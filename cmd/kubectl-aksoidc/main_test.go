package main

import (
	"context"
	"encoding/json"
	"os"
	"testing"
)

// runCLIEnv, when set, makes the test binary run the plugin with the JSON argument list it
// holds, as the plugin's main would, and exit: a test that needs a fresh process (the
// system's roots are read once per process, from SSL_CERT_FILE) runs the plugin this way.
const runCLIEnv = "AKSOIDC_TEST_RUN_CLI"

func TestMain(m *testing.M) {
	if raw := os.Getenv(runCLIEnv); raw != "" {
		var args []string
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			panic(err)
		}
		os.Exit(run(context.Background(), append([]string{"kubectl-aksoidc"}, args...), "test"))
	}
	os.Exit(m.Run())
}
