// Package shadow implements guest ("shadow") accounts on the ZITADEL
// identity provider.
//
// An anonymous visitor who shows intent (adds to a cart) silently becomes a
// real ZITADEL user tagged as a guest. The backend impersonates the guest
// by OAuth 2.0 Token Exchange (RFC 8693) to get a real JWT signed by
// ZITADEL, and keeps it in an encrypted, authenticated, httpOnly cookie.
// When the visitor registers, [Manager.Upgrade] turns the guest into a
// registered user in place; when they log into an account they already
// had, [Manager.MergeInto] moves what the guest owns there and deletes the
// guest. [Manager.Sweep] deletes abandoned guests and their data.
//
// # Lifecycle and ZITADEL calls
//
//	Provision    CreateUser with an SDK-chosen id and the guest tag     1 round trip, retried
//	Impersonate  token exchange ‖ GetUserByID                           1 round trip, retried
//	Upgrade      GetUserByID ‖ ListUserMetadata, then one atomic
//	             UpdateUser                                             2 round trips, UpdateUser never retried
//	MergeInto    GetUserByID ‖ ListUserMetadata (guest) ‖ GetUserByID
//	             ‖ ListUserMetadata (target), then DeleteUser           2 round trips, retried
//	Sweep        ListUsers pages, then GetUserByID ‖ ListUserMetadata
//	             + DeleteUser per guest                                 ≤ 2N + pages round trips, retried
//
// (‖: concurrent requests, one round trip of latency.) The cookie
// helpers' renewal is Impersonate, at most once per guest per renewal
// window in a process; a warm request makes no call.
//
// # Data a guest owns
//
// The app's data lives in its own stores, which the Manager calls by the
// [GuestData] interface (WithGuestData, any number) and, for carts, the
// [CartStore] interface (WithCartStore, optional):
//
//	MergeInto    every store's GuestData.MoveGuest (the cart store: CartStore.Merge
//	             or CartRetirer.MergeGuest) before DeleteUser; again after it
//	             for stores without the Retirer capability
//	Sweep        ActivityRecorder.LastActivity with IdleFor, SweepOptions.Veto,
//	             then every store's GuestData.DeleteGuest (CartStore.Delete or
//	             CartRetirer.DeleteGuest) before DeleteUser
//	PruneRetired Retirer.PruneRetired
//
// Provision, Impersonate and Upgrade call no store. Stores with the
// [Retirer] capability refuse writes under a moved or deleted guest with
// [ErrOwnerRetired]. package shadowtest checks a store's contracts.
//
// The user service is spoken as Connect JSON (POST
// /zitadel.user.v2.UserService/<Method>). Only idempotent requests are
// retried, on connection errors, 429, 502, 503 and 504, with jittered
// exponential backoff honouring Retry-After.
//
// # Invariants
//
//  1. No registered user is ever modified or deleted: every write or delete
//     first checks the guest tag, under a per-guest lock (WithGuestLocker
//     across replicas), and Upgrade removes the tag in the same atomic call
//     that sets the credentials.
//  2. A guest id comes only from a sealed session or from the SDK itself;
//     a tampered, forged, expired or foreign cookie is [ErrInvalidSession].
//  3. No data a guest owns is lost: move it first, delete the guest after;
//     delete a swept guest's data before the guest; every step can be
//     repeated.
//  4. No e-mail is marked verified unless the app says it verified it
//     (VerifiedByApp): by default Upgrade lets ZITADEL send a code.
//  5. Only idempotent requests are retried.
//  6. A dead guest stays dead: once upgraded, merged or swept, no old
//     session of it is a guest session again ([ErrGuestEnded]) and no
//     token is minted for it — at once in the process that ended it,
//     within DefaultEndedCheckInterval on replicas sharing a store with
//     the [Retirer] capability, which also refuses writes under its id.
//  7. Activity protects: a guest active within SweepOptions.IdleFor is
//     never swept (the Middleware records activity in the stores with the
//     [ActivityRecorder] capability), and a visitor who comes back within
//     the idle timeout (WithIdleTimeout) keeps their session and data.
//  8. Registered is decided fresh: whether a user is a guest is read from
//     ZITADEL under the guest's lock (tag present, and no password, no
//     verified e-mail, an e-mail on the guest domain, not a machine user),
//     never from an earlier listing or from a token alone.
//
// # Sessions
//
// The session cookie (WithSessionKeys) has an absolute lifetime
// (WithSessionLifetime, 400 days) and an idle timeout (WithIdleTimeout, 30
// days); the Middleware re-seals an active visitor's cookie every few
// minutes. EnsureGuest and GuestRequired refuse cross-site unsafe
// requests ([ErrCrossSite]). An app can keep a signed-in user in the same
// sealed cookie (Session.UserID).
//
// # Requirements
//
// ZITADEL v4.13 or later (metadata in CreateUser and UpdateUser), with
// impersonation enabled in the instance security settings, an OIDC
// application with the Token Exchange grant type, and a machine user
// holding IAM_USER_MANAGER and IAM_END_USER_IMPERSONATOR (or the ORG_
// variants on the guests' organization).
//
// For tests, package zitadeltest is an in-memory fake ZITADEL, and
// memstore an in-memory [CartStore] and [GuestData] store.
package shadow
