package statusdir

// Remove removes rel (a file, or a directory and its contents). A missing
// rel, or one below a parent that is not a real directory, is not an error:
// removed is then false.
func (d *Dir) Remove(rel string) (removed bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, err := d.openRoot(false)
	if err != nil || r == nil {
		return false, err
	}
	defer r.Close()
	return d.remove(r, rel, true)
}
