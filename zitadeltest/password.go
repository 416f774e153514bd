package zitadeltest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"regexp"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// ZITADEL's default password complexity policy (cmd/defaults.yaml
// PasswordComplexityPolicy): at least 8 bytes, a lower-case letter, an
// upper-case letter, a digit and a symbol. Check order and ids follow
// internal/domain/policy_password_complexity.go: the first failing rule wins.
const passwordMinLength = 8

var (
	hasLower  = regexp.MustCompile(`[a-z]`).MatchString
	hasUpper  = regexp.MustCompile(`[A-Z]`).MatchString
	hasNumber = regexp.MustCompile(`[0-9]`).MatchString
	hasSymbol = regexp.MustCompile(`[^A-Za-z0-9]`).MatchString
)

// checkPasswordComplexity returns the error of the first rule password breaks.
func checkPasswordComplexity(password string) *apiError {
	switch {
	case len(password) < passwordMinLength: // bytes, as ZITADEL counts
		return newError(zitadel.CodeInvalidArgument, idPasswordMinLength, "Password is too short")
	case !hasLower(password):
		return newError(zitadel.CodeInvalidArgument, idPasswordHasLower, "Password must contain lower case")
	case !hasUpper(password):
		return newError(zitadel.CodeInvalidArgument, idPasswordHasUpper, "Password must contain upper case")
	case !hasNumber(password):
		return newError(zitadel.CodeInvalidArgument, idPasswordHasNumber, "Password must contain number")
	case !hasSymbol(password):
		return newError(zitadel.CodeInvalidArgument, idPasswordHasSymbol, "Password must contain symbol")
	}
	return nil
}

// passwordHash is a salted SHA-256 of a password. The fake does not need a
// slow hash: it only has to keep plain passwords out of its state.
type passwordHash struct {
	salt [16]byte
	sum  [sha256.Size]byte
}

func hashPassword(password string) *passwordHash {
	h := &passwordHash{}
	_, _ = rand.Read(h.salt[:]) // crypto/rand.Read never fails
	h.sum = saltedSum(h.salt, password)
	return h
}

func (h *passwordHash) matches(password string) bool {
	if h == nil {
		return false
	}
	sum := saltedSum(h.salt, password)
	return subtle.ConstantTimeCompare(sum[:], h.sum[:]) == 1
}

func saltedSum(salt [16]byte, password string) [sha256.Size]byte {
	return sha256.Sum256(append(salt[:], password...))
}
