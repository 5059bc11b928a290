"""The fuzz suite (issue 24): the real runtime under virtual time, fed what a broken feed or a careless seller sends."""
