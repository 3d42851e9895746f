package authn

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apiserver/pkg/apis/apiserver"
	"k8s.io/apiserver/pkg/apis/apiserver/install"
	"k8s.io/apiserver/pkg/apis/apiserver/validation"
	authenticationcel "k8s.io/apiserver/pkg/authentication/cel"
	"k8s.io/apiserver/plugin/pkg/authenticator/token/oidc"
	"k8s.io/utils/ptr"
)

// OIDCFlags holds kube-apiserver's --oidc-* flags, with the same meaning.
type OIDCFlags struct {
	IssuerURL      string
	ClientID       string
	CAFile         string
	UsernameClaim  string
	UsernamePrefix string
	GroupsClaim    string
	GroupsPrefix   string
	RequiredClaims map[string]string
	SigningAlgs    []string
}

// Source is one authentication configuration and the signing algorithms it allows.
type Source struct {
	Config      *apiserver.AuthenticationConfiguration
	SigningAlgs []string
}

var codecs = func() serializer.CodecFactory {
	scheme := runtime.NewScheme()
	install.Install(scheme)
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict)
}()

// FromFlags converts the flags to an AuthenticationConfiguration the way kube-apiserver does,
// including its legacy username prefix (the issuer URL and "#" unless the claim is "email"; "-"
// for none), and validates it.
func FromFlags(f OIDCFlags) (Source, error) {
	prefix := f.UsernamePrefix
	if prefix == "" && f.UsernameClaim != "email" {
		prefix = f.IssuerURL + "#"
	}
	if prefix == "-" {
		prefix = ""
	}
	jwt := apiserver.JWTAuthenticator{
		Issuer: apiserver.Issuer{URL: f.IssuerURL, Audiences: []string{f.ClientID}},
		ClaimMappings: apiserver.ClaimMappings{
			Username: apiserver.PrefixedClaimOrExpression{Claim: f.UsernameClaim, Prefix: ptr.To(prefix)},
		},
	}
	if f.GroupsClaim != "" {
		jwt.ClaimMappings.Groups = apiserver.PrefixedClaimOrExpression{Claim: f.GroupsClaim, Prefix: ptr.To(f.GroupsPrefix)}
	}
	if f.CAFile != "" {
		ca, err := os.ReadFile(f.CAFile)
		if err != nil {
			return Source{}, fmt.Errorf("read --oidc-ca-file: %w", err)
		}
		jwt.Issuer.CertificateAuthority = string(ca)
	}
	for claim, value := range f.RequiredClaims {
		jwt.ClaimValidationRules = append(jwt.ClaimValidationRules, apiserver.ClaimValidationRule{Claim: claim, RequiredValue: value})
	}
	cfg := &apiserver.AuthenticationConfiguration{JWT: []apiserver.JWTAuthenticator{jwt}}
	if err := validate(cfg); err != nil {
		return Source{}, fmt.Errorf("--oidc-* flags: %w", err)
	}
	return Source{Config: cfg, SigningAlgs: f.SigningAlgs}, nil
}

// LoadFile reads and validates an AuthenticationConfiguration file. As in kube-apiserver, a file
// allows every signing algorithm the oidc authenticator knows.
func LoadFile(path string) (Source, []byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Source{}, nil, fmt.Errorf("read --authentication-config: %w", err)
	}
	src, err := Parse(data)
	if err != nil {
		return Source{}, data, fmt.Errorf("--authentication-config %s: %w", path, err)
	}
	return src, data, nil
}

// Parse decodes (strictly) and validates an AuthenticationConfiguration.
func Parse(data []byte) (Source, error) {
	if len(data) == 0 {
		return Source{}, errors.New("empty authentication configuration")
	}
	obj, err := runtime.Decode(codecs.UniversalDecoder(), data)
	if err != nil {
		return Source{}, err
	}
	cfg, ok := obj.(*apiserver.AuthenticationConfiguration)
	if !ok {
		return Source{}, fmt.Errorf("expected kind AuthenticationConfiguration, got %T", obj)
	}
	if len(cfg.JWT) == 0 {
		return Source{}, errors.New("jwt: at least one issuer is required")
	}
	if cfg.Anonymous != nil && cfg.Anonymous.Enabled {
		return Source{}, errors.New("anonymous: not supported by the proxy")
	}
	if err := validate(cfg); err != nil {
		return Source{}, err
	}
	if err := refuseReservedExtras(cfg); err != nil {
		return Source{}, err
	}
	return Source{Config: cfg, SigningAlgs: oidc.AllValidSigningAlgorithms()}, nil
}

// refuseReservedExtras refuses, when the configuration is loaded, an extra mapping the proxy
// would refuse on every token (CheckIdentity): keys under ReservedExtraPrefix are the proxy's.
// Loaded, it would make the proxy ready and then answer every user with 401.
func refuseReservedExtras(cfg *apiserver.AuthenticationConfiguration) error {
	var errs []error
	for i, jwt := range cfg.JWT {
		for j, extra := range jwt.ClaimMappings.Extra {
			if strings.HasPrefix(extra.Key, ReservedExtraPrefix) {
				errs = append(errs, fmt.Errorf("jwt[%d].claimMappings.extra[%d].key %q: keys under %s are set only by the proxy; "+
					"use your own domain, such as example.com/%s", i, j, extra.Key, ReservedExtraPrefix, strings.TrimPrefix(extra.Key, ReservedExtraPrefix)))
			}
		}
	}
	return errors.Join(errs...)
}

func validate(cfg *apiserver.AuthenticationConfiguration) error {
	return validation.ValidateAuthenticationConfiguration(authenticationcel.NewDefaultCompiler(), cfg, nil).ToAggregate()
}
