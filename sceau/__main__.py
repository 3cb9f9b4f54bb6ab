from sceau.cli import main

main()
