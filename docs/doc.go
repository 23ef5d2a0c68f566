// Package docs holds the project's documentation pages (Markdown) and no
// code. Its tests check that every relative link of README.md and docs/
// resolves — the file exists inside the repository, and a #fragment names
// a heading of the target as GitHub renders it — and that the README stays
// a front door of at most 300 lines.
package docs
