"""python -m richcontainer ... (runs in this process, no forkserver)."""

from richcontainer.cli import main

if __name__ == "__main__":
    main(prog_name="richcontainer")
