"""The five stages, each a builder of datatrove executors behind one interface (`base.Stage`)."""
