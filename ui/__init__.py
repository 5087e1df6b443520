"""The browser UI (Gradio). Thin: every action calls the same library functions as the CLI."""
