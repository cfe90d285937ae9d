from tfbridge.cli.main import run

run()
