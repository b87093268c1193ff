package identity

// CSRWithKey lets the external tests (package identity_test) make CSRs as the internal ones do.
var CSRWithKey = csrWithKey
