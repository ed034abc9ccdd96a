"""Leadbot: the product's rules and running parts."""
