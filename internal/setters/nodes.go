package setters

// nodeBound returns an upper bound on the nodes the YAML parser can build
// from b (keys, values, collections, documents, aliases), in one pass and
// without allocating, so a file can be refused before it costs memory.
//
// Every node the parser builds starts a token at a position this counts:
// a flow indicator ([ ] { } ,) or the first byte after a blank, a line
// break, a flow indicator or ':' (the start of a word, which is where
// scalars, aliases, '-', '?', ':' and "---" begin). Block collections and
// empty values have no bytes of their own: a block mapping or sequence
// starts with its first key or '-', and an empty value belongs to the key
// or indicator before it, so no position starts more than two nodes. The
// first document's node and the stream add the constant. Comments, quoted
// and block scalars are counted as if they were plain words: that only
// overcounts, which keeps the bound safe against content that hides
// structure from a lexer simpler than the parser. TestNodeBound checks the
// bound against the parser on dense and ordinary inputs.
func nodeBound(b []byte) int {
	starts := 0
	prev := byte('\n')
	for _, c := range b {
		switch {
		case isFlowIndicator(c):
			starts++
		case isBlank(c) || c == '\n' || c == '\r':
		case separates(prev):
			starts++
		}
		prev = c
	}
	return 2*starts + 2
}

// separates says whether a word can start after byte c. 0x85, 0xa8 and
// 0xa9 end the Unicode line breaks NEL, LS and PS; they also end other
// characters, which only overcounts.
func separates(c byte) bool {
	return isBlank(c) || c == '\n' || c == '\r' || isFlowIndicator(c) || c == ':' ||
		c == 0x85 || c == 0xa8 || c == 0xa9
}
