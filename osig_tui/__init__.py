"""osig front end: the Typer CLI (`osig ...`) and the Textual monitor. Reads runs only through osig_core.store."""
