"""`python -m shipway` runs the CLI."""

from shipway.cli.app import main

if __name__ == "__main__":
    main()
