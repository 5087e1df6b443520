"""Readers for the document formats beyond plain text: each returns the text chunk spans index into,
plus where its pages and sections begin (rag.formats.structure.Layout)."""
