package engine

// TransactionID is the engine's identity of a request (MTI class/terminal/STAN/transmission), the
// id of its ledger event: for callers that build requests and must find their outcome later.
func TransactionID(mti, terminal, stan, transmission string) string {
	return transactionID(mti, terminal, stan, transmission)
}
