module github.com/shadowaccounts/shadow/examples/sweep

go 1.25.0

require (
	github.com/jackc/pgx/v5 v5.12.0
	github.com/shadowaccounts/shadow v0.0.0
	github.com/shadowaccounts/shadow/pgstore v0.0.0
)

require (
	github.com/go-jose/go-jose/v4 v4.1.8 // indirect
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/hashicorp/go-retryablehttp v0.7.8 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	golang.org/x/oauth2 v0.36.0 // indirect
	golang.org/x/sync v0.22.0 // indirect
	golang.org/x/text v0.41.0 // indirect
	golang.org/x/time v0.15.0 // indirect
)

replace (
	github.com/shadowaccounts/shadow => ../..
	github.com/shadowaccounts/shadow/pgstore => ../../pgstore
)
