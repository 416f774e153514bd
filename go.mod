module github.com/shadowaccounts/shadow

go 1.25.0

require (
	github.com/go-jose/go-jose/v4 v4.1.8 // indirect
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/hashicorp/go-retryablehttp v0.7.8 // indirect
	golang.org/x/oauth2 v0.36.0 // indirect
)
