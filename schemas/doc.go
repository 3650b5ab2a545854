// Package schemas embeds amp's published JSON Schema so the binary validates against
// exactly the file editors use.
// It must not import anything but the standard library.
package schemas
