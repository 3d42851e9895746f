// Command seed writes a valid-looking cache entry for bench.sh, so that the
// benchmark times the cache-hit path of get-token without a login. The ID token
// is JWT-shaped but unsigned: the cache-hit path never verifies it (it was
// verified when a real login cached it).
package main

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/aksoidc/aksoidc/pkg/tokencache"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	issuer := fs.String("issuer-url", "", "issuer URL get-token is called with")
	clientID := fs.String("client-id", "", "client ID get-token is called with")
	dir := fs.String("file-dir", "", "write the entry to this file cache dir")
	useKeyring := fs.Bool("keyring", false, "write the entry to the OS keyring too")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	token, err := seed(*issuer, *clientID, *dir, *useKeyring)
	if err != nil {
		fmt.Fprintf(os.Stderr, "seed: %v\n", err)
		return 1
	}
	// bench.sh checks that get-token hands out exactly this token.
	fmt.Println(token)
	return 0
}

func seed(issuer, clientID, dir string, useKeyring bool) (string, error) {
	if issuer == "" || clientID == "" {
		return "", fmt.Errorf("-issuer-url and -client-id are required")
	}
	// The key get-token computes with default flags: the default scopes and
	// the authcode grant.
	id := tokencache.Key{
		IssuerURL: issuer, ClientID: clientID,
		Scopes: []string{"openid", "offline_access"}, GrantType: "authcode",
	}.ID()
	expiry := time.Now().Add(24 * time.Hour).Truncate(time.Second)
	e := tokencache.Entry{IDToken: fakeJWT(issuer, clientID, expiry), RefreshToken: "bench-refresh-token", Expiry: expiry}
	if dir != "" {
		if err := (tokencache.FileStore{Dir: dir}).Save(id, e); err != nil {
			return "", err
		}
	}
	if useKeyring {
		if err := (tokencache.KeyringStore{Service: tokencache.KeyringService}).Save(id, e); err != nil {
			return "", err
		}
	}
	return e.IDToken, nil
}

func fakeJWT(issuer, clientID string, expiry time.Time) string {
	enc := base64.RawURLEncoding
	// json.Marshal of these plain types cannot fail.
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": "bench"})
	claims, _ := json.Marshal(map[string]any{
		"iss": issuer, "aud": clientID, "sub": "bench-user", "email": "bench@example.org",
		"iat": time.Now().Unix(), "exp": expiry.Unix(),
	})
	return enc.EncodeToString(header) + "." + enc.EncodeToString(claims) + "." + enc.EncodeToString([]byte("unsigned"))
}
