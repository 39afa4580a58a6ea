from kimaisync.cli import console

console()
