// Package yamledit makes minimal-diff edits to YAML files a person wrote. The
// YAML parser only locates a node; the package then changes the bytes of that
// one scalar (or adds or removes one whole `key: value` line, or copies or
// removes one whole mapping entry as lines) and leaves every other byte as it
// was: comments, blank lines, indentation, quoting, key order, line endings, a
// byte-order mark and a missing final newline. Every change is checked by
// parsing the result again and comparing it with the original; what cannot be
// changed safely (duplicate keys, aliases, merge keys, block scalars, a value
// whose type would change) is refused with an *Error naming the file, line and
// reason. It never re-encodes a document and never touches the disk.
package yamledit
