from llmd_doctor.cli import main

main()
