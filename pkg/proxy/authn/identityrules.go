package authn

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"k8s.io/apiserver/pkg/authentication/user"
)

// Bounds on an identity, documented in the README ("Identity rules"). They keep the
// impersonation headers of one request far below the API server's header limits.
const (
	// MaxIdentityValueBytes bounds a username, uid, group, extra key or extra value.
	MaxIdentityValueBytes = 1024
	// MaxGroups bounds the groups of one identity (Entra ID stops listing at 200).
	MaxGroups = 512
	// MaxExtraValues bounds the extra values of one identity, all keys together.
	MaxExtraValues = 64
)

// ReservedExtraPrefix marks the extra keys that only the proxy sets (the client's address, who
// asked for an impersonation); a token's claims must not be able to set them.
const ReservedExtraPrefix = "aksoidc.io/"

// CheckIdentity refuses an identity whose values would not reach the API server byte for byte
// as impersonation headers. An HTTP/1.1 header writer trims white space around a value (so
// " system:masters" would arrive as "system:masters") and refuses control characters; an
// empty Impersonate-User means no impersonation at all. Refusing these values makes what the
// proxy checks (the system: rule, RBAC names) exactly what the API server reads.
func CheckIdentity(u user.Info) error {
	var errs []error
	if u.GetName() == "" {
		errs = append(errs, errors.New("username is empty"))
	} else if err := checkValue(u.GetName()); err != nil {
		errs = append(errs, fmt.Errorf("username %q: %w", u.GetName(), err))
	}
	if uid := u.GetUID(); uid != "" {
		if err := checkValue(uid); err != nil {
			errs = append(errs, fmt.Errorf("uid %q: %w", uid, err))
		}
	}
	errs = append(errs, checkGroups(u.GetGroups())...)
	errs = append(errs, checkExtra(u.GetExtra())...)
	return errors.Join(errs...)
}

func checkGroups(groups []string) []error {
	if len(groups) > MaxGroups {
		return []error{fmt.Errorf("%d groups, more than %d", len(groups), MaxGroups)}
	}
	var errs []error
	for _, g := range groups {
		if g == "" {
			errs = append(errs, errors.New("a group is empty"))
		} else if err := checkValue(g); err != nil {
			errs = append(errs, fmt.Errorf("group %q: %w", g, err))
		}
	}
	return errs
}

func checkExtra(extra map[string][]string) []error {
	var errs []error
	count := 0
	for key, values := range extra {
		count += len(values)
		switch {
		case key == "":
			errs = append(errs, errors.New("an extra key is empty"))
			continue
		case strings.HasPrefix(key, ReservedExtraPrefix):
			errs = append(errs, fmt.Errorf("extra key %q: reserved for the proxy", key))
			continue
		case key != strings.ToLower(key):
			// Impersonate-Extra-<key> header names are case-insensitive: the API server reads the
			// key lower-cased, so an upper-case key would arrive as another key.
			errs = append(errs, fmt.Errorf("extra key %q: has upper-case letters", key))
			continue
		}
		if err := checkValue(key); err != nil {
			errs = append(errs, fmt.Errorf("extra key %q: %w", key, err))
		}
		for _, v := range values {
			if v == "" {
				errs = append(errs, fmt.Errorf("extra %q: a value is empty", key))
			} else if err := checkValue(v); err != nil {
				errs = append(errs, fmt.Errorf("extra %q: value %q: %w", key, v, err))
			}
		}
	}
	if count > MaxExtraValues {
		errs = append(errs, fmt.Errorf("%d extra values, more than %d", count, MaxExtraValues))
	}
	return errs
}

// checkValue refuses what a header could not carry unchanged: invalid UTF-8, control
// characters (C0, DEL, C1), white space at either end, and overlong values.
func checkValue(v string) error {
	switch {
	case len(v) > MaxIdentityValueBytes:
		return fmt.Errorf("longer than %d bytes", MaxIdentityValueBytes)
	case !utf8.ValidString(v):
		return errors.New("not valid UTF-8")
	case strings.IndexFunc(v, isControl) >= 0:
		return errors.New("holds a control character")
	}
	first, _ := utf8.DecodeRuneInString(v)
	last, _ := utf8.DecodeLastRuneInString(v)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return errors.New("begins or ends with white space")
	}
	return nil
}

// isControl is true for C0 (with tab, CR and LF), DEL and C1 control characters.
func isControl(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f)
}

// refuseReserved refuses names the cluster gives its own components (system:masters,
// system:nodes, system:serviceaccount:…), which an OIDC claim must not be able to claim. It
// runs after CheckIdentity, so the bytes it checks are the bytes the API server reads.
func refuseReserved(u user.Info) error {
	if strings.HasPrefix(u.GetName(), "system:") {
		return fmt.Errorf("username %q is reserved (system: prefix)", u.GetName())
	}
	for _, g := range u.GetGroups() {
		if strings.HasPrefix(g, "system:") {
			return fmt.Errorf("user %q: group %q is reserved (system: prefix)", u.GetName(), g)
		}
	}
	return nil
}
