import BatonCLI

BatonCommand.runMain()
