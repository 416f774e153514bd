package signin

import (
	"errors"
	"net/http"
	"time"

	"github.com/shadowaccounts/shadow"
)

// MergeStatus says what became of the guest that started a sign-in.
type MergeStatus int

const (
	// NoGuest: no guest session started the sign-in (or the Flow has no
	// Manager); nothing to do.
	NoGuest MergeStatus = iota
	// Merged: the guest's data moved into the account and the guest was
	// deleted; its session cookie was cleared.
	Merged
	// GuestGone: the guest no longer exists or is no longer a guest
	// (another tab's sign-in merged it, it was upgraded or swept); nothing
	// moved, and its session cookie was cleared.
	GuestGone
	// SameUser: the guest itself signed in (it was upgraded without a
	// password and has set its credential); its session cookie was cleared.
	SameUser
	// MergePending: Config.ConfirmMerge asked to confirm first; the guest
	// and its session are kept until the app calls ConfirmMerge or
	// DeclineMerge.
	MergePending
	// MergeDeferred: the merge failed (Err says why); the guest, its data
	// and its session cookie are kept, and the next sign-in tries again.
	MergeDeferred
)

var statusNames = [...]string{"NoGuest", "Merged", "GuestGone", "SameUser", "MergePending", "MergeDeferred"}

func (s MergeStatus) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "MergeStatus(?)"
}

// MergeOutcome is what the merge step did.
type MergeOutcome struct {
	Status  MergeStatus
	GuestID string             // the guest that started the sign-in, or ""
	Result  shadow.MergeResult // what moved, for Merged
	Err     error              // a *MergeError, for MergeDeferred
}

// mergeOnSignIn runs the merge step of Callback for the guest sealed into
// the state.
func (f *Flow) mergeOnSignIn(w http.ResponseWriter, r *http.Request, guestID string, u *User) MergeOutcome {
	m := f.cfg.Manager
	switch {
	case m == nil || guestID == "":
		return MergeOutcome{}
	case guestID == u.ID:
		clearIfCurrent(w, r, m, guestID)
		return MergeOutcome{Status: SameUser, GuestID: guestID}
	case f.cfg.ConfirmMerge != nil && f.cfg.ConfirmMerge(r.Context(), u):
		v, err := f.seal.sealJSON(purposeMerge, pendingMerge{GuestID: guestID, UserID: u.ID,
			Expiry: f.now().Add(f.cfg.StateLifetime).Unix()})
		if err != nil {
			return MergeOutcome{Status: MergeDeferred, GuestID: guestID, Err: &MergeError{GuestID: guestID, UserID: u.ID, Err: err}}
		}
		http.SetCookie(w, f.pendingCookie(v, int(f.cfg.StateLifetime.Seconds())))
		return MergeOutcome{Status: MergePending, GuestID: guestID}
	}
	return merge(w, r, m, guestID, u.ID)
}

// merge merges guestID into userID and clears the guest session of r
// only when the guest is merged or gone.
func merge(w http.ResponseWriter, r *http.Request, m *shadow.Manager, guestID, userID string) MergeOutcome {
	res, err := m.MergeInto(r.Context(), guestID, userID)
	switch {
	case err == nil:
		clearIfCurrent(w, r, m, guestID)
		return MergeOutcome{Status: Merged, GuestID: guestID, Result: res}
	case errors.Is(err, shadow.ErrNotGuest) || errors.Is(err, shadow.ErrNotFound):
		clearIfCurrent(w, r, m, guestID)
		return MergeOutcome{Status: GuestGone, GuestID: guestID}
	default:
		return MergeOutcome{Status: MergeDeferred, GuestID: guestID, Result: res,
			Err: &MergeError{GuestID: guestID, UserID: userID, Err: err}}
	}
}

// clearIfCurrent clears r's guest session cookie when it is guestID's: a
// session of another guest, created after the sign-in started, stays.
func clearIfCurrent(w http.ResponseWriter, r *http.Request, m *shadow.Manager, guestID string) {
	s, err := m.ReadSession(r)
	var ended *shadow.GuestEndedError // the merge just ended it
	if err == nil && s.GuestID == guestID || errors.As(err, &ended) && ended.GuestID == guestID {
		m.ClearSession(w)
	}
}

// MergeSession is the merge step alone, for apps with their own login: it
// merges the guest of r's sealed session (never an id from request input)
// into userID, the account the app has just verified the user signed into,
// with the rules of Callback: the session cookie is cleared only when the
// guest was merged or is gone (or is userID itself); a failure keeps
// session and data and reports a [*MergeError] (Status MergeDeferred).
// Without a guest session it returns Status NoGuest. It calls
// Manager.MergeInto (ZITADEL ListUserMetadata and DeleteUser, retried;
// see there).
func MergeSession(w http.ResponseWriter, r *http.Request, m *shadow.Manager, userID string) MergeOutcome {
	s, err := m.ReadSession(r)
	switch {
	case err != nil || userID == "":
		return MergeOutcome{}
	case s.GuestID == userID:
		m.ClearSession(w)
		return MergeOutcome{Status: SameUser, GuestID: userID}
	}
	return merge(w, r, m, s.GuestID, userID)
}

// PendingMerge returns the guest a Callback left pending (MergePending) in
// this browser for userID, the signed-in user; ok is false when there is
// none or it expired. Use it to show what a confirmation would move.
func (f *Flow) PendingMerge(r *http.Request, userID string) (guestID string, ok bool) {
	p, err := f.pendingMerge(r, userID)
	return p.GuestID, err == nil
}

func (f *Flow) pendingMerge(r *http.Request, userID string) (pendingMerge, error) {
	c, err := r.Cookie(f.pending)
	if err != nil {
		return pendingMerge{}, ErrNoPendingMerge
	}
	var p pendingMerge
	if err := f.seal.openJSON(purposeMerge, c.Value, &p); err != nil {
		return pendingMerge{}, ErrNoPendingMerge
	}
	if userID == "" || p.UserID != userID || p.GuestID == "" || !f.now().Before(time.Unix(p.Expiry, 0)) {
		return pendingMerge{}, ErrNoPendingMerge
	}
	return p, nil
}

// ConfirmMerge performs the merge a Callback left pending in this browser
// for userID, the user the app has signed in (from its own session, never
// from the form). It clears the pending cookie and returns the outcome as
// Callback would; [ErrNoPendingMerge] when there is none for userID. Serve
// it on POST only.
func (f *Flow) ConfirmMerge(w http.ResponseWriter, r *http.Request, userID string) (MergeOutcome, error) {
	if f.cfg.Manager == nil {
		return MergeOutcome{}, ErrNoPendingMerge
	}
	p, err := f.pendingMerge(r, userID)
	if err != nil {
		return MergeOutcome{}, err
	}
	http.SetCookie(w, f.pendingCookie("", -1))
	return merge(w, r, f.cfg.Manager, p.GuestID, p.UserID), nil
}

// DeclineMerge drops the pending merge of this browser. The guest, its
// data and its session stay; its data stays apart from the account.
func (f *Flow) DeclineMerge(w http.ResponseWriter) {
	http.SetCookie(w, f.pendingCookie("", -1))
}

func (f *Flow) pendingCookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: f.pending, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: f.secure, SameSite: http.SameSiteLaxMode}
}
