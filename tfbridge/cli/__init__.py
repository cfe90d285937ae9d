"""The command-line layer: parse, call one domain function, render its result. Nothing more."""
