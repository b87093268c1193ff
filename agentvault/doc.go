// Package agentvault is what an agent author imports to take part in the Sovereign Stack:
// a Client that resolves another agent (by registry id, by URL, or from a card
// file), picks a binding its card offers and talks A2A to it; a KeyStore that keeps API keys,
// OAuth client credentials and the agent's own Ed25519 key (a 0600 file, then environment
// variables, then, opted in, the OS keyring); the agent's Identity (key, DID, SPIFFE ID) with a
// TokenSource for its JWT and an SVIDRenewer for its X.509-SVID; typed clients of the registry
// (Registry: discovery, bootstrap registration, heartbeats) and of the token economy (TEG:
// balance, transfers, two-phase holds); and Agent, which serves an a2a.Executor over the A2A
// bindings and keeps the registry told that it is alive.
//
// A minimal agent:
//
//	reg := agentvault.NewRegistry(registryURL, agentvault.BearerToken(developerKey))
//	r, err := reg.Register(ctx, cardJSON, agentvault.RegisterOptions{})
//	// … r.Save(ctx, keys) keeps the identity and client credentials for the next start
//	a := &agentvault.Agent{Executor: myExecutor{}, Card: r.Card.Card, Identity: r.Identity,
//		RegistryURL: registryURL, Credential: r.TokenSource(registryURL), Addr: ":8080"}
//	err = a.Run(ctx)
//
// and a caller:
//
//	c := agentvault.NewClient(agentvault.WithRegistry(registryURL))
//	res, err := c.Send(ctx, "agt_01J…", "hello")
//	fmt.Println(agentvault.AnswerText(res))
package agentvault
