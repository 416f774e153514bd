// Package zitadeltest is an in-memory fake of a ZITADEL instance for tests.
package zitadeltest
