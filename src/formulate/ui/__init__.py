"""The Streamlit app's pages. Thin: each page calls the same functions as the CLI."""
