package schedimport

import (
	"bytes"
	"encoding/json"
)

// Reading a Bundle's structure in place: the functions here walk JSON that json.Valid has
// accepted, returning slices of it, so that a 16 MiB Bundle is never copied nor decoded
// whole, and entries are counted as they are met rather than after all are decoded.

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// valueEnd is the end of the value that starts at b[i].
func valueEnd(b []byte, i int) int {
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			i = stringEnd(b, i) - 1
			if depth == 0 {
				return i + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth <= 0 {
				return i + 1 + depth // a scalar ends before its container's bracket
			}
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return i
			}
		}
	}
	return i
}

// stringEnd is the end of the string that starts at b[i] (a quote).
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// isKey says whether a member's key is name, ignoring case as encoding/json does.
func isKey(key []byte, name string) bool { return bytes.EqualFold(key, []byte(name)) }

// jsonKind names the kind of the value v, as encoding/json's errors do.
func jsonKind(v []byte) string {
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

// eachMember calls fn with each key and value of the object obj, until fn returns false.
// Keys with escapes are unquoted; others are given as written, without quotes.
func eachMember(obj []byte, fn func(key, val []byte) bool) {
	for i := skipSpace(obj, 1); i < len(obj) && obj[i] == '"'; {
		end := stringEnd(obj, i)
		key := obj[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			var s string
			json.Unmarshal(obj[i:end], &s) //nolint:errcheck // valid JSON
			key = []byte(s)
		}
		i = skipSpace(obj, end)
		i = skipSpace(obj, i+1) // ':'
		vend := valueEnd(obj, i)
		if !fn(key, obj[i:vend]) {
			return
		}
		i = skipSpace(obj, vend)
		if i < len(obj) && obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
	}
}

// eachElement calls fn with each element of the array arr, until fn returns false.
func eachElement(arr []byte, fn func(i int, elem []byte) bool) {
	i := skipSpace(arr, 1)
	for n := 0; i < len(arr) && arr[i] != ']'; n++ {
		end := valueEnd(arr, i)
		if !fn(n, arr[i:end]) {
			return
		}
		i = skipSpace(arr, end)
		if i < len(arr) && arr[i] == ',' {
			i = skipSpace(arr, i+1)
		}
	}
}
