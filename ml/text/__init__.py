"""The offline text models behind RelayCore's `local` provider and the NeuroWeaver endpoint."""
