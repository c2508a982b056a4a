package isolation

func miniServerMain(args []string) bool { return false }
