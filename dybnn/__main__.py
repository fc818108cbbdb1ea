from dybnn.cli import main

main()
