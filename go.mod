module github.com/aksoidc/aksoidc

go 1.26
