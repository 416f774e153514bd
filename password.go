package shadow

import (
	"context"
	"errors"
	"strings"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// PasswordRule is one rule of ZITADEL's password complexity policy.
type PasswordRule string

// The rules, named after ZITADEL's policy fields.
const (
	RuleMinLength PasswordRule = "min_length"
	RuleLowercase PasswordRule = "lowercase"
	RuleUppercase PasswordRule = "uppercase"
	RuleNumber    PasswordRule = "number"
	RuleSymbol    PasswordRule = "symbol"
)

// passwordRuleIDs maps ZITADEL's error ids to rules
// (internal/domain/policy_password_complexity.go).
var passwordRuleIDs = map[string]PasswordRule{
	"DOMAIN-HuJf6": RuleMinLength,
	"DOMAIN-co3Xw": RuleLowercase,
	"DOMAIN-VoaRj": RuleUppercase,
	"DOMAIN-ZBv4H": RuleNumber,
	"DOMAIN-ZDLwA": RuleSymbol,
}

// ErrWeakPassword is matched by every [*PasswordPolicyError].
var ErrWeakPassword = errors.New("shadow: password does not satisfy the complexity policy")

// PasswordPolicyError says which complexity rules a refused password
// misses. ZITADEL names only the first unmet rule; the SDK then reads the
// organization's policy (GetPasswordComplexitySettings, one extra read on
// this failure path only) and lists all of them. When that read fails,
// Unmet holds the rule ZITADEL named.
type PasswordPolicyError struct {
	Unmet     []PasswordRule
	MinLength int       // the policy's minimum length in bytes; 0 when unknown
	Err       *APIError // ZITADEL's refusal
}

func (e *PasswordPolicyError) Error() string {
	rules := make([]string, len(e.Unmet))
	for i, r := range e.Unmet {
		rules[i] = string(r)
	}
	return "shadow: password does not satisfy the complexity policy: missing " + strings.Join(rules, ", ")
}

// Is makes errors.Is(err, ErrWeakPassword) true.
func (e *PasswordPolicyError) Is(target error) bool { return target == ErrWeakPassword }

// Unwrap returns ZITADEL's error.
func (e *PasswordPolicyError) Unwrap() error { return e.Err }

// isPasswordRejection reports whether err is ZITADEL refusing a password
// for its complexity.
func isPasswordRejection(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "invalid_argument" {
		return false
	}
	_, ok := passwordRuleIDs[ae.ID]
	return ok
}

// passwordPolicyError builds the PasswordPolicyError for a refused password.
func (m *Manager) passwordPolicyError(ctx context.Context, password string, refusal error) error {
	var ae *APIError
	errors.As(refusal, &ae)
	pe := &PasswordPolicyError{Unmet: []PasswordRule{passwordRuleIDs[ae.ID]}, Err: ae}
	var resp zitadel.GetPasswordComplexitySettingsResponse
	err := apiErr(ctx, zitadel.MethodGetPasswordComplexitySettings, m.api.CallService(zitadel.Idempotent(ctx),
		zitadel.SettingsServicePath, zitadel.MethodGetPasswordComplexitySettings,
		zitadel.GetPasswordComplexitySettingsRequest{Ctx: &zitadel.RequestContext{OrgID: m.cfg.orgID}}, &resp))
	if err != nil || resp.Settings == nil {
		m.log().Debug("shadow: password policy unavailable; reporting ZITADEL's first unmet rule", "err", err)
		return pe
	}
	if unmet := unmetRules(password, *resp.Settings); len(unmet) > 0 {
		pe.Unmet = unmet
	}
	pe.MinLength = int(resp.Settings.MinLength)
	return pe
}

// unmetRules checks password against a policy as ZITADEL does: length in
// bytes, character classes in ASCII.
func unmetRules(password string, s zitadel.PasswordComplexitySettings) []PasswordRule {
	var lower, upper, number, symbol bool
	for _, r := range password {
		switch {
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= '0' && r <= '9':
			number = true
		default:
			symbol = true
		}
	}
	var unmet []PasswordRule
	if uint64(len(password)) < uint64(s.MinLength) {
		unmet = append(unmet, RuleMinLength)
	}
	for _, c := range []struct {
		required, has bool
		rule          PasswordRule
	}{{s.RequiresLowercase, lower, RuleLowercase}, {s.RequiresUppercase, upper, RuleUppercase},
		{s.RequiresNumber, number, RuleNumber}, {s.RequiresSymbol, symbol, RuleSymbol}} {
		if c.required && !c.has {
			unmet = append(unmet, c.rule)
		}
	}
	return unmet
}

// String returns the rule's name.
func (r PasswordRule) String() string { return string(r) }
